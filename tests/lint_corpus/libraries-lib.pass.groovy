pipeline {
    agent any
    libraries {
        lib('x@1')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
