pipeline {
    agent any
    triggers {
        cron('H 2 * * *')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
