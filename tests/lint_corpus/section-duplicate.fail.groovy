pipeline {
    agent any
    environment { A = 'a' }
    environment { B = 'b' }  // <-- section-duplicate
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
